s1 = pick(object=red_cup);
s2 = move_to(target=$s1.pose);
