using System.Runtime.Versioning;

// The appliance build drives Debian tools (mmdebstrap, grub-mkrescue, ...): it runs on Linux only.
[assembly: SupportedOSPlatform("linux")]
