# repair
s1 = say(text="start");
s2 = release(object=red_cup) @optional;
s3 = pick(object=red_cup);
