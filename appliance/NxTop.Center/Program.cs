using NxTop.Center;

if (args is ["keygen", ..])
{
    return CenterCommands.KeyGen(args[1..], Console.Out, Console.Error);
}

if (args is ["new-admin-token", ..])
{
    return await CenterCommands.NewAdminTokenAsync(args[1..], Console.Out, Console.Error).ConfigureAwait(false);
}

await using var app = CenterApp.Build(args);
await app.RunAsync().ConfigureAwait(false);
return 0;

/// <summary>The entry point; public so that the tests' WebApplicationFactory can start the Center.</summary>
public partial class Program;
