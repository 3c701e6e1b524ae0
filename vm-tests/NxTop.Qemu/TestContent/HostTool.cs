using System.Diagnostics;

namespace NxTop.Qemu.TestContent;

/// <summary>How <see cref="HostTool.RunAsync"/> runs a tool.</summary>
public sealed record HostToolRun
{
    public string? WorkingDirectory { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public string? StandardInput { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>A failed host tool: its command line, exit code and stderr.</summary>
public sealed class HostToolException(string message) : Exception(message);

/// <summary>Runs a host tool (an argument list, never a shell string); a non-zero exit throws with its stderr.</summary>
public static class HostTool
{
    public static async Task<string> RunAsync(string tool, IEnumerable<string> args, HostToolRun? run = null, CancellationToken cancellationToken = default)
    {
        run ??= new HostToolRun();
        var list = args.ToList();
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = run.StandardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = run.WorkingDirectory ?? "",
        };
        foreach (var a in list)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in run.Environment)
        {
            psi.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new HostToolException($"Could not start {tool}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HostToolException($"Could not start {tool} ({e.Message}); the test content needs Debian's qemu-utils, e2fsprogs, cpio and busybox on the host.");
        }

        using (process)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(run.Timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
            var stderr = process.StandardError.ReadToEndAsync(limit.Token);
            if (run.StandardInput is { } input)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), limit.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }

            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new HostToolException($"{tool} {string.Join(' ', list)} did not finish within {run.Timeout.TotalSeconds:0} s.");
            }

            var err = (await stderr.ConfigureAwait(false)).Trim();
            return process.ExitCode == 0
                ? await stdout.ConfigureAwait(false)
                : throw new HostToolException($"{tool} {string.Join(' ', list)} failed with exit code {process.ExitCode}: {err}");
        }
    }
}
