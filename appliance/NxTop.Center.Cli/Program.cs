namespace NxTop.Center.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => AdminCli.MainAsync(args, Console.Out, Console.Error);
}
