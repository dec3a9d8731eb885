"""Safety planning: screening a survivor's danger and generating a tailored, revisable plan."""
