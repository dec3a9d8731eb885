"""Shelters: the registry of places and their bed inventory tables, who may see what, intake
hours."""
