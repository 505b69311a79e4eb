s1 = pick(object=red_cup) @timeout(90 s);
