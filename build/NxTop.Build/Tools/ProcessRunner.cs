using System.Diagnostics;
using System.Text;

namespace NxTop.Build.Tools;

/// <summary>The result of a finished external command.</summary>
public sealed record ToolResult(string Tool, IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    public string CommandLine => ProcessRunner.Render(Tool, Arguments);
}

/// <summary>A tool exited non-zero, could not be started, or ran out of time. The CLI prints it like any build failure.</summary>
public sealed class ToolException : NxTopBuildException
{
    public ToolException(string message, ToolResult? result = null, Exception? inner = null)
        : base(message, inner) => Result = result;

    public ToolResult? Result { get; }
}

/// <summary>Options for one process run.</summary>
public sealed record ToolRun
{
    public string? WorkingDirectory { get; init; }
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>Called with every line the tool writes to stdout or stderr, for live progress.</summary>
    public Action<string>? OnLine { get; init; }
    public bool CheckExitCode { get; init; } = true;
    public string? StandardInput { get; init; }
}

/// <summary>
/// Runs external tools from an argument list (never a shell string), captures stdout and stderr,
/// and turns a non-zero exit into a <see cref="ToolException"/> that carries stderr.
/// </summary>
public sealed class ProcessRunner
{
    private const int TailLines = 40;

    public async Task<ToolResult> RunAsync(string tool, IEnumerable<string> arguments, ToolRun? run = null, CancellationToken cancellationToken = default)
    {
        run ??= new ToolRun();
        var args = arguments.ToList();
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = run.StandardInput is not null,
            UseShellExecute = false,
        };
        if (run.WorkingDirectory is not null)
        {
            psi.WorkingDirectory = run.WorkingDirectory;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in run.Environment)
        {
            psi.Environment[k] = v;
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data, run.OnLine);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data, run.OnLine);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ToolException($"Could not start '{tool}': {ex.Message}. Is it installed? Run './build.sh --target=CheckHost'.", null, ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (run.StandardInput is not null)
        {
            await process.StandardInput.WriteAsync(run.StandardInput.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(run.Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            var partial = new ToolResult(tool, args, -1, stdout.ToString(), stderr.ToString());
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new ToolException($"'{partial.CommandLine}' did not finish within {run.Timeout.TotalSeconds:0} s.\n{Tail(partial.StandardError)}", partial);
        }

        // WaitForExitAsync returns after the redirected streams reach EOF.
        var result = new ToolResult(tool, args, process.ExitCode, stdout.ToString(), stderr.ToString());
        if (run.CheckExitCode && result.ExitCode != 0)
        {
            var detail = string.IsNullOrWhiteSpace(result.StandardError) ? Tail(result.StandardOutput) : Tail(result.StandardError);
            throw new ToolException($"'{result.CommandLine}' failed with exit code {result.ExitCode}:\n{detail}", result);
        }

        return result;
    }

    private static void Append(StringBuilder sb, string? line, Action<string>? onLine)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.AppendLine(line);
        }

        onLine?.Invoke(line);
    }

    internal static string Tail(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - TailLines)));
    }

    /// <summary>Renders a command for messages, quoted the way a POSIX shell would read it.</summary>
    public static string Render(string tool, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { tool }.Concat(arguments).Select(Quote));

    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? s
            : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
