"""The script compiler: Python source to typed IR."""
