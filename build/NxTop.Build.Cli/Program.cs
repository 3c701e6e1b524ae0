using NxTop.Build;
using NxTop.Build.Cli;

try
{
    return await Cli.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
}
catch (NxTopBuildException ex)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine("error: " + ex.Message);
    return 1;
}
