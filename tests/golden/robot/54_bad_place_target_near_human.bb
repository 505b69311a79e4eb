# world: human.json
# The object is far from the person but the target bin is not: place visits both.
s1 = pick(object=red_cup, speed=0.1 m/s);
s2 = place(object=red_cup, target=bin_b, speed=0.1 m/s);
