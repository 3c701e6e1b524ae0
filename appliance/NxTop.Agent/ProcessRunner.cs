using System.ComponentModel;
using System.Diagnostics;

namespace NxTop.Agent;

internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>A tool that could not be started, timed out or exited non-zero; the message carries its stderr.</summary>
internal sealed class ProcessFailedException(string message, int? exitCode = null, string standardError = "")
    : Exception(message)
{
    public int? ExitCode { get; } = exitCode;

    public string StandardError { get; } = standardError;
}

/// <summary>
/// Runs a tool with an argument list (never a shell string), a timeout and captured output, in the
/// C locale so that its output does not depend on the dom0's language settings.
/// </summary>
internal sealed class ProcessRunner(TimeProvider timeProvider)
{
    private const int MaxErrorChars = 1000;

    /// <summary>Runs the tool and throws <see cref="ProcessFailedException"/> unless it exits 0.</summary>
    public async Task<ProcessResult> RunCheckedAsync(
        string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunAsync(fileName, arguments, timeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var stderr = Abbreviate(result.StandardError);
            throw new ProcessFailedException(
                $"'{Describe(fileName, arguments)}' exited with code {result.ExitCode}" + (stderr.Length > 0 ? $": {stderr}" : ""),
                result.ExitCode,
                result.StandardError);
        }

        return result;
    }

    public async Task<ProcessResult> RunAsync(
        string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["LC_ALL"] = "C";

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new ProcessFailedException($"cannot start '{fileName}': {ex.Message}");
        }

        process.StandardInput.Close();

        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var stdout = process.StandardOutput.ReadToEndAsync(linked.Token);
        var stderr = process.StandardError.ReadToEndAsync(linked.Token);
        try
        {
            await Task.WhenAll(stdout, stderr, process.WaitForExitAsync(linked.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ProcessFailedException(
                $"'{Describe(fileName, arguments)}' did not finish within {timeout.TotalSeconds:0.#} s and was killed");
        }

        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
    }

    private static string Describe(string fileName, IReadOnlyList<string> arguments) =>
        arguments.Count == 0 ? fileName : $"{fileName} {string.Join(' ', arguments)}";

    private static string Abbreviate(string text)
    {
        var trimmed = text.Trim().ReplaceLineEndings(" | ");
        return trimmed.Length <= MaxErrorChars ? trimmed : trimmed[..MaxErrorChars] + "...";
    }
}
