"""Beds: counts and admissions, holds (single and batch), surge capacity, and open-bed search."""
