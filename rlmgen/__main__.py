from rlmgen.cli import main

main()
