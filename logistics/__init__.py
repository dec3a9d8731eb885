"""Logistics: shelters and beds, cases and matching, return-home transport."""
