/*
   Mimikatz (credential theft from LSASS): the strings its binaries, scripts and console output carry.
*/

rule HKTL_Mimikatz_Strings
{
    meta:
        author = "seccenter team"
        description = "Mimikatz: module commands and author strings (binary, Invoke-Mimikatz script or saved output)"
        reference = "https://attack.mitre.org/software/S0002/"
        date = "2026-11-25"
        score = 85

    strings:
        $cmd1 = "sekurlsa::logonpasswords" ascii wide nocase
        $cmd2 = "lsadump::sam" ascii wide nocase
        $cmd3 = "lsadump::dcsync" ascii wide nocase
        $cmd4 = "privilege::debug" ascii wide nocase
        $cmd5 = "kerberos::golden" ascii wide nocase
        $author1 = "gentilkiwi" ascii wide
        $author2 = "Benjamin DELPY" ascii wide
        $name = "mimikatz" ascii wide nocase
        $lib = "kiwi_msv1_0" ascii wide

    condition:
        2 of ($cmd*) or ($name and any of ($author*, $lib, $cmd*))
}
