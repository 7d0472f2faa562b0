print("1..1")
print("ok 1 - placeholder # SKIP")
