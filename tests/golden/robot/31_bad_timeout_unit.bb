s1 = pick(object=red_cup) @timeout(2 m);
s2 = home() @timeout(-1 s);
