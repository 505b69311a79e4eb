s1 = pick(object=red_cup, force=60 N);
