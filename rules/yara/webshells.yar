/*
   Web shells: request parameters handed straight to code evaluation or a system shell. These markers are
   rare in legitimate application code; review the matched line before deleting anything.
*/

rule WEBSHELL_PHP_Request_To_Eval
{
    meta:
        author = "seccenter team"
        description = "PHP that evaluates or executes request input (eval/assert/system/passthru/shell_exec on $_GET/$_POST/$_REQUEST/$_COOKIE)"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        date = "2026-11-25"
        score = 80

    strings:
        $php = "<?" ascii
        $direct = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*(base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $preg_e = /preg_replace\s*\(\s*['"].{1,40}\/e['"]\s*,\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $create = /create_function\s*\([^)]{0,80}\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase

    condition:
        filesize < 2MB and $php and any of ($direct, $preg_e, $create)
}

rule WEBSHELL_JSP_Request_To_Exec
{
    meta:
        author = "seccenter team"
        description = "JSP that runs a request parameter as an operating-system command"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        date = "2026-11-25"
        score = 80

    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:" ascii
        $exec = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\s*\.\s*getParameter\s*\(/
        $builder = /new\s+ProcessBuilder\s*\([^;]{0,120}request\s*\.\s*getParameter\s*\(/

    condition:
        filesize < 2MB and any of ($jsp*) and any of ($exec, $builder)
}
