"""The thread-scaling benchmark (run the folder: python -P benchmarks/scaling).

workloads  the rows: an operation and the factory of its objects
proxies    the columns: plain access, ThreadHandle, its peers, the slot floor
runner     threads, timing, callgrind
report     the tables, the notes, the JSON file
plot       the PNG plot
__main__   the command line; its docstring is the manual (--help)
"""
