s1 = pick(object=red_cup, speed=0.15 m/s, force=15 N) @timeout(12000 ms);
