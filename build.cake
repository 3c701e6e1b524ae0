// NxTop Appliance build. This file is the table of contents; the work is done by compiled, tested C#
// (build/NxTop.Build, through the nxtop-build CLI) and by dotnet test. Run ./build.sh --tree to see the targets.
#load "build/context.cake"
#load "build/steps.cake"

var target = Argument("target", "Default");

Setup<BuildContext>(ctx => new BuildContext(ctx));

// ---- private steps ---------------------------------------------------------------------------------------------
Task("__CompileTools")
    .Description("Compiles the solution (build library, CLI, agent, tests).")
    .Does<BuildContext>(Steps.CompileSolution);

Task("__CheckHost")
    .Description("Checks every host tool the build needs; as root, installs what is missing with one apt-get install.")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>(Steps.CheckHost);

Task("__PublishAgent")
    .Description("Publishes the NxTop agent for linux-x64 (NativeAOT).")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>(Steps.PublishAgent);

Task("__UnitTests")
    .Description("Runs the fast unit tests (tests/): no root, no VM.")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>((ctx, b) => Steps.RunTests(ctx, b, b.UnitTestProjects, null));

Task("__InstallerImage")
    .Description("Builds the unattended installer (profile installer) that the install scenarios boot.")
    .IsDependentOn("__CheckHost")
    .IsDependentOn("__PublishAgent")
    .Does<BuildContext>(Steps.BuildInstallerImage);

Task("__VmTestImage")
    .Description("Builds the agent's VM-test image (profile vmtest: trusts the test publisher key) that the agent life-cycle tests boot.")
    .IsDependentOn("__CheckHost")
    .IsDependentOn("__PublishAgent")
    .Does<BuildContext>(Steps.BuildVmTestImage);

Task("__VmSmoke")
    .Description("The smoke boots: ISO under BIOS and UEFI, PXE under BIOS, the disk image under UEFI, an unattended install and its disk under BIOS; checks Xen, dom0 and the agent over SSH.")
    .IsDependentOn("__InstallerImage")
    .IsDependentOn("Image")
    .Does<BuildContext>((ctx, b) => Steps.RunTests(ctx, b, new[] { b.VmTestProject }, "Category=Smoke|Category=Harness"));

Task("__VmNightly")
    .Description("The nightly VM matrix: every scenario, including the USB stick and the agent's life cycle.")
    .IsDependentOn("__InstallerImage")
    .IsDependentOn("__VmTestImage")
    .IsDependentOn("Image")
    .Does<BuildContext>((ctx, b) => Steps.RunTests(ctx, b, new[] { b.VmTestProject }, null));

// ---- public targets --------------------------------------------------------------------------------------------
Task("CheckHost")
    .Description("Checks (and as root installs) the host tools.")
    .IsDependentOn("__CheckHost");

Task("Validate")
    .Description("Loads and checks the spec with the chosen --profile; builds nothing.")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>(Steps.Validate);

Task("Image")
    .Description("Builds the appliance images (artifacts/<name>-<version>/): installer ISO, PXE tree, A/B disk image (.img, .qcow2), manifest.json, SHA256SUMS, SSH keys.")
    .IsDependentOn("__CheckHost")
    .IsDependentOn("__PublishAgent")
    .Does<BuildContext>(Steps.BuildImage);

Task("UnitTest")
    .Description("Runs the unit tests only.")
    .IsDependentOn("__UnitTests");

Task("Test")
    .Description("What CI runs: unit tests, the image builds, and the QEMU smoke boots (ISO BIOS/UEFI, PXE BIOS, disk UEFI, install + installed disk BIOS).")
    .IsDependentOn("__UnitTests")
    .IsDependentOn("__VmSmoke");

Task("VmTest")
    .Description("The nightly VM matrix (all scenarios); results in artifacts/test-results/, serial logs in artifacts/vm-logs/.")
    .IsDependentOn("__VmNightly");

Task("Reproducibility")
    .Description("Builds the images twice into artifacts/repro/{a,b} and compares them byte for byte; prints the first difference and fails on any. --cold gives each build its own empty Debian cache.")
    .IsDependentOn("__CheckHost")
    .IsDependentOn("__PublishAgent")
    .Does<BuildContext>(Steps.Reproducibility);

Task("Center")
    .Description("Starts NxTop Center with no set-up (SQLite and content under its default data folder; the first admin credential is written to a 0600 file there). Ctrl-C stops it.")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>(Steps.Center);

Task("Run")
    .Description("Boots the last built image in QEMU for a person: serial console on this terminal, the SSH command printed. --format=iso-bios|iso-uefi|usb-uefi|pxe-bios|pxe-uefi|ipxe|disk-bios|disk-uefi (default iso-bios).")
    .IsDependentOn("__CompileTools")
    .Does<BuildContext>(Steps.Run);

Task("Bench")
    .Description("Measures the cold build, the warm rebuild after an agent-only change, image sizes, the smoke boots and the install, the agent's life cycle on the vmtest image (RSS, start, patch bytes, rollback time, power cuts); writes artifacts/bench/bench.md, then benchmarks NxTop Center (artifacts/bench/center.md).")
    .IsDependentOn("__CheckHost")
    .Does<BuildContext>(Steps.Bench);

Task("Clean")
    .Description("Deletes artifacts/ (not the Debian cache; see NXTOP_CACHE).")
    .Does<BuildContext>(Steps.Clean);

Task("Default")
    .Description("Builds the installer ISO (same as Image).")
    .IsDependentOn("Image");

RunTarget(target);
