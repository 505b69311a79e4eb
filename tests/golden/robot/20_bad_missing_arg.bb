s1 = pick(object=red_cup);
s2 = place(object=red_cup);
