"""Return plans (issue 22): destination bed, itinerary and funding for many cases as one
decision, and accepting it as one transaction. See docs/return_plans.md."""
