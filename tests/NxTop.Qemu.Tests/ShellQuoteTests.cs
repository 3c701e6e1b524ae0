using System.Diagnostics;

namespace NxTop.Qemu.Tests;

public class ShellQuoteTests
{
    [Theory]
    [InlineData("", "''")]
    [InlineData("plain", "plain")]
    [InlineData("/usr/bin/xl", "/usr/bin/xl")]
    [InlineData("a=b,c:d@e%f+g.h-i_j", "a=b,c:d@e%f+g.h-i_j")]
    [InlineData("two words", "'two words'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("'", @"''\'''")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("a;rm -rf /", "'a;rm -rf /'")]
    [InlineData("`id`", "'`id`'")]
    [InlineData("*", "'*'")]
    [InlineData("line\nbreak", "'line\nbreak'")]
    public void Quote_makes_one_literal_shell_word(string input, string expected)
    {
        Assert.Equal(expected, ShellQuote.Quote(input));
    }

    [Fact]
    public void Join_quotes_each_word()
    {
        Assert.Equal("cat '/tmp/my file' -", ShellQuote.Join("cat", "/tmp/my file", "-"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("simple")]
    [InlineData("it's a \"test\"")]
    [InlineData("$(id) `id` ${x} $x \\ \\\\ ; | & < > * ? [ ] ~ # !")]
    [InlineData("'''")]
    [InlineData("tab\tand\nnewline")]
    [InlineData("ünïcödé ✓")]
    public void A_real_posix_shell_reads_the_quoted_word_back_unchanged(string input)
    {
        // printf '%s' <word> echoes exactly what the shell parsed the word as.
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("printf '%s' " + ShellQuote.Quote(input));
        using var sh = Process.Start(psi)!;
        var output = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();

        Assert.Equal(0, sh.ExitCode);
        Assert.Equal(input, output);
    }
}
