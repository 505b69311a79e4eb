s1 = scan(region=all);
s2 = move_to(target=$s1.pose);
