"""IID catalogues, one YAML file per year (package so the files ship in a wheel)."""
