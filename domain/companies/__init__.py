"""Companies (accounts): the traits of Segment `group` calls."""
