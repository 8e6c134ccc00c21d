"""`docloop eval`: measure the loop on a community's labelled messages.

`labels` reads the labelled JSONL file, `chat` turns it into a
DiscordChatExporter export, `runner` runs index-docs → run → docs search in a
scratch home, `metrics` scores the result (the acceptance definitions of
issue #12) and `render` prints it.
"""
