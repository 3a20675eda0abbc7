from kinanti.cli import main

main()
