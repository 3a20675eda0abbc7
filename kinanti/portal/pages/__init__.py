"""The portal's pages, one router per audience (thin: parse, check, call the domain, render)."""
