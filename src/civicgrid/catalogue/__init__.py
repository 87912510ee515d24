"""The catalogue (事项清单): domains and items, who handles them and how fast."""
