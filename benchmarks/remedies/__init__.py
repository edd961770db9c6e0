"""The remedy suite (run the folder: python -P benchmarks/remedies).

Small programs of real library use, two threads sharing objects where a
real program keeps them; per program, in one run, the scaling with every
object shared, with each object alone made a per-thread own copy (the
ground truth: which object is the culprit), with all own copies (the
ideal), and with each remedy the program lists.  See README.md.

program   loading a program file, its shared objects, the thread namespaces
remedies  the remedies: what each does, where it applies, how it is applied
runner    threads, runs, CPU-time scaling
finder    the one adapter to threadhandle.contention
report    the table and the JSON file
programs  the programs, one file each
__main__  the command line
"""
