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
        $iex1 = /\b(iex|invoke-expression)\b/ nocase ascii wide
        $dl1 = /\.DownloadString\s*\(/ nocase ascii wide
        $dl2 = /\.DownloadData\s*\(/ nocase ascii wide
        $dl3 = /\b(iwr|irm|invoke-webrequest|invoke-restmethod)\b/ nocase ascii wide
        $wc = /new-object\s+(system\.)?net\.webclient/ nocase ascii wide

    condition:
        filesize < 5MB and $iex1 and ($wc or any of ($dl*))
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
