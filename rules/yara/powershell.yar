/*
   PowerShell download cradles: code fetched from the network and run in memory, in clear or as an
   -EncodedCommand (base64 of UTF-16LE text).
*/

rule PS_Download_Cradle
{
    meta:
        author = "seccenter team"
        description = "PowerShell that downloads code and runs it in memory (IEX with WebClient/Invoke-WebRequest)"
        reference = "https://attack.mitre.org/techniques/T1059/001/"
        date = "2026-11-25"
        score = 70

    strings:
        $run1 = "Invoke-Expression" nocase ascii wide
        $run2 = "IEX(" nocase ascii wide
        $run3 = "IEX (" nocase ascii wide
        $run4 = "| IEX" nocase ascii wide
        $run5 = "|IEX" nocase ascii wide
        $get1 = ".DownloadString(" nocase ascii wide
        $get2 = ".DownloadData(" nocase ascii wide
        $get3 = "Net.WebClient" nocase ascii wide
        $get4 = "Invoke-WebRequest" nocase ascii wide
        $get5 = "Invoke-RestMethod" nocase ascii wide
        $get6 = /\b(iwr|irm) +(-uri +)?['"]?https?:\/\// nocase ascii wide

    condition:
        filesize < 5MB and any of ($run*) and any of ($get*)
}

rule PS_Encoded_Download_Cradle
{
    meta:
        author = "seccenter team"
        description = "PowerShell -EncodedCommand whose base64 spells IEX or Net.WebClient / DownloadString"
        reference = "https://attack.mitre.org/techniques/T1027/010/"
        date = "2026-11-25"
        score = 75

    strings:
        $ps = "powershell" nocase ascii wide
        $flag = /\s-e(nc|ncodedcommand)?\s+[A-Za-z0-9+\/]{16}/ nocase ascii wide
        // "IEX (New-Object", "Net.WebClient" and "DownloadString" as UTF-16LE, base64 at each of the three alignments
        $b64_iex = "SQBFAFgA" ascii wide
        $b64_iex2 = "kARQBYA" ascii wide
        $b64_webclient = "TgBlAHQALgBXAGUAYgBDAGwAaQBlAG4AdA" ascii wide
        $b64_webclient2 = "4AZQB0AC4AVwBlAGIAQwBsAGkAZQBuAHQA" ascii wide
        $b64_download = "RABvAHcAbgBsAG8AYQBkAFMAdAByAGkAbgBnA" ascii wide

    condition:
        filesize < 5MB and $ps and $flag and any of ($b64_*)
}
