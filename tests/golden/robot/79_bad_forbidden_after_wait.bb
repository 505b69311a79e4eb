s1 = pick(object=red_cup);
s2 = release(object=red_cup);
s3 = wait(duration=2 s);
s4 = push(object=red_cup, direction=left, distance=5 cm);
