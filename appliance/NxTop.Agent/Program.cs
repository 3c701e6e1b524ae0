using NxTop.Agent;

return await AgentCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
