from syncer.cli import main

main()
