"""The agent loop, its tools, and the texts it shows the model."""
