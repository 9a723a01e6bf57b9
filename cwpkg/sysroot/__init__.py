"""sysroot"""
