namespace NxTop.Build.Spec;

/// <summary>The image formats the build can write. Each one has a writer in the image-writer registry.</summary>
public enum OutputFormat
{
    Iso,
}
