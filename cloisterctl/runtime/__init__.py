"""Where agents run: tmux sessions started from launch files, probed, messaged and stopped, with
nothing going through a shell.
"""
