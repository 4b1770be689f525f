"""The operator's plans, each MSP's subscription to one, and the limits they set."""
