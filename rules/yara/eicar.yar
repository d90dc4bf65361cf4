/*
   The EICAR anti-virus test file: harmless by design, used to check that a scanner and its alerting work.
   Found anywhere in a file, not only as the whole file (the test string is often embedded in archives,
   documents and test data).
*/

rule EICAR_Test_File
{
    meta:
        author = "seccenter team"
        description = "EICAR anti-virus test string (harmless; proves that scanning and alerting work)"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        date = "2026-11-25"
        score = 50

    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

    condition:
        $eicar
}
