s1 = say(text="hi") @optional;
s2 = pick(object=green_ball);
s3 = place(object=green_ball, target=bin_b);
