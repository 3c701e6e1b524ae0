namespace NxTop.Qemu.Tests;

public class SerialLogTests
{
    [Fact]
    public void Tail_of_a_missing_file_is_empty()
    {
        Assert.Empty(SerialLog.Tail("/nonexistent/serial.log", 50));
    }

    [Fact]
    public void Tail_strips_escape_sequences_and_carriage_returns_and_skips_blank_lines()
    {
        var dir = Directory.CreateTempSubdirectory("nxtop-serial-");
        try
        {
            var log = Path.Combine(dir.FullName, "serial.log");
            // What OVMF really prints: clear screen, cursor moves, colours, CRLF.
            File.WriteAllText(log,
                "\e[2J\e[01;01H\e[=3h\e[2J\e[01;01HBdsDxe: failed to load Boot0001\r\n\r\n"
                + "\e[1m\e[33m\e[40mShell> \e[0m\e[37m\e[40m\r\nPress ESC\b \b in 1 seconds\r\nlast");

            var tail = SerialLog.Tail(log, 10);

            Assert.Equal(["BdsDxe: failed to load Boot0001", "Shell>", "Press ESC  in 1 seconds", "last"], tail);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Tail_reads_a_file_another_process_holds_open_for_writing()
    {
        var dir = Directory.CreateTempSubdirectory("nxtop-serial-");
        try
        {
            var log = Path.Combine(dir.FullName, "serial.log");
            using var writer = new FileStream(log, FileMode.Create, FileAccess.Write, FileShare.Read);
            writer.Write("one\ntwo\nthree\n"u8);
            writer.Flush();

            Assert.Equal(["two", "three"], SerialLog.Tail(log, 2));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
