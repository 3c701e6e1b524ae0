namespace NxTop.Build;

/// <summary>
/// A build failure with a message written for the person running the build: what is wrong and how to fix it.
/// The CLI prints the message (no stack trace) and exits non-zero.
/// </summary>
public class NxTopBuildException : Exception
{
    public NxTopBuildException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    public NxTopBuildException()
    {
    }

    public NxTopBuildException(string message)
        : base(message)
    {
    }
}
