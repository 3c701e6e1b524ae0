using Microsoft.Extensions.Hosting;
using NxTop.Agent.Storage;

namespace NxTop.Agent;

/// <summary>
/// Makes sure the state directory exists, mode 0700 when the agent creates it (the unit's
/// StateDirectory= normally has), with the content store's folders in it (see <see cref="StoreLayout"/>).
/// </summary>
internal sealed class StateDirectory(AgentConfig config) : IHostedService
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(config.StateDirectory))
        {
            Directory.CreateDirectory(config.StateDirectory, DirectoryMode);
        }

        new StoreLayout(config.StateDirectory).CreateDirectories();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
