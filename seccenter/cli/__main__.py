from seccenter.cli import main

main(prog_name="seccenter")
