"""The directory: providers and law-enforcement contacts, their areas, search, HSDS exchange."""
