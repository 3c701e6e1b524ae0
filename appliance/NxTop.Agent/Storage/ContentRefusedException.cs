namespace NxTop.Agent.Storage;

/// <summary>Why content was refused; these go to the log, the history and the status report.</summary>
internal enum RefusalKind
{
    NotSigned,
    UnknownKey,
    BadSignature,
    Malformed,
    WrongContent,
    HashMismatch,
    SizeMismatch,
    Oversize,
    Downgrade,
    FailedBefore,
    BrokenChain,
}

/// <summary>Content that must not be used; never retried until the Center changes something.</summary>
internal sealed class ContentRefusedException(RefusalKind kind, string message) : Exception(message)
{
    public RefusalKind Kind { get; } = kind;
}

/// <summary>The disk filled up; the partial download was removed and nothing installed changed.</summary>
internal sealed class DiskFullException(string message, Exception inner) : IOException(message, inner);
