/*
   Secrets left in files on shares and servers: unencrypted private keys and cloud access keys.
   Public keys, certificates and passphrase-protected keys do not match.
*/

rule CRED_Cleartext_Private_Key
{
    meta:
        author = "seccenter team"
        description = "Unencrypted private key (PEM/OpenSSH) lying in a file"
        reference = "https://attack.mitre.org/techniques/T1552/004/"
        date = "2026-11-25"
        score = 60

    strings:
        $pem = /-----BEGIN (RSA |DSA |EC |OPENSSH )?PRIVATE KEY-----\r?\n[A-Za-z0-9+\/]{40}/
        $putty = "PuTTY-User-Key-File-" ascii
        $putty_plain = "Encryption: none" ascii

    condition:
        $pem or ($putty and $putty_plain)
}

rule CRED_Leaked_Cloud_Access_Key
{
    meta:
        author = "seccenter team"
        description = "AWS access key id next to its secret access key"
        reference = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"
        date = "2026-11-25"
        score = 70

    strings:
        $key_id = /\b(AKIA|ASIA)[0-9A-Z]{16}\b/
        $secret = /aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9\/+]{40}/ nocase

    condition:
        $key_id and $secret
}
